"""Benchmarks of the service side by side with raw Elasticsearch (issue 8, STYLE rule 9).

``python -m bench`` (``make bench``; ``make bench-quick`` for the CI smoke
run) loads a fixed-seed data set into a fresh index set, starts the real
service under gunicorn, and prints one JSON object with every figure as
service, raw Elasticsearch and their ratio; ``bench/parse_compile.py`` is the
query-language micro-benchmark it folds in. Benchmarks are not tests: nothing
here asserts a timing.
"""
