dist_man_MANS += doc/airlock-proxy.8
dist_man_MANS += doc/airlock-fs.8
