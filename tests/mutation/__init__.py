"""The mutation corpus: a careful reference implementation and single-bug variants of it.

``reference`` is a NumPy implementation of the two losses written from docs/semantics.md;
``mutants`` holds one-bug variants, each with a witness input where it provably goes wrong;
``score`` runs the conformance CLI on all of them and tabulates which the hunt catches.
"""
