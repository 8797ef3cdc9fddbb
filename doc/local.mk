dist_man_MANS += doc/airlock-proxy.8
dist_man_MANS += doc/airlock-fs.8

# airlock.yaml(5): the policy format (common/policy*.c)
dist_man_MANS += doc/airlock.yaml.5
