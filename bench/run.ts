/** Benchmark suite entry point (`npm run bench`). Each benchmark reports a ratio to a baseline run alongside it. */
process.stdout.write('no benchmarks yet\n');
