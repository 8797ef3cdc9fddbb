# fs, proxy: airlock against its peers (run by hand; see bench/README.md)
EXTRA_DIST += bench/README.md bench/deps.sh bench/common.py bench/fs \
	bench/proxy bench/loadgen.c doc/benchmarks.md
