# conf/: the default policy (installed, and compiled into libairlock as the
# embedded default) and example policies.
dist_airlockconf_DATA += conf/airlock.yaml
EXTRA_DIST += conf/embed.sh conf/examples

# The embedded default is generated in the build tree (VPATH and distcheck
# safe: it reads the source with $(srcdir), writes the build dir).
nodist_common_libairlock_a_SOURCES = conf/default_policy.c
BUILT_SOURCES += conf/default_policy.c
CLEANFILES += conf/default_policy.c

conf/default_policy.c: $(srcdir)/conf/airlock.yaml $(srcdir)/conf/embed.sh
	$(AM_V_GEN)$(MKDIR_P) conf && \
	$(SHELL) $(srcdir)/conf/embed.sh $(srcdir)/conf/airlock.yaml \
	    airlock_default_policy > $@.tmp && mv $@.tmp $@

# conf/reviewers/: the shipped reviewers (airlock.yaml(5), section review)
reviewersdir = $(libexecdir)/airlock
dist_reviewers_SCRIPTS = conf/reviewers/review-rules conf/reviewers/review-llm
dist_airlockconf_DATA += conf/reviewers/review-rules.conf
