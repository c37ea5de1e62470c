"""The judge: what the oracle expects of a case (expectation), how a backend's output compares
with it element by element (comparison, tolerances), and the verdict of a whole case (evaluate).
It reads records and arrays only; it does not know which backend produced a value."""
