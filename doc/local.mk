dist_man_MANS += doc/airlock-proxy.8
