"""Runs of the engine: worker threads, launching, records, the run log, comparisons, exports."""
