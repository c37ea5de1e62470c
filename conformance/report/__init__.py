"""Reports: JSON (+ schema), Markdown, HTML, reproducers and writing; they read records only."""
