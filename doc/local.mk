# airlock(1): the command and every subcommand (cli/)
dist_man_MANS += doc/airlock.1

dist_man_MANS += doc/airlock-proxy.8
dist_man_MANS += doc/airlock-fs.8

# airlock.yaml(5): the policy format (common/policy*.c)
dist_man_MANS += doc/airlock.yaml.5

# the guides (doc/guide-*.md) and the review guide and reference
EXTRA_DIST += doc/guide-local-session.md doc/guide-container-proxy.md \
	doc/airlock-review.md

# what the room protects against, and what it does not
EXTRA_DIST += doc/security.md
