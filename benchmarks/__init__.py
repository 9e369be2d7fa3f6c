"""Speed and memory benchmarks: scripts that print JSON lines. See docs/benchmarks.md."""
