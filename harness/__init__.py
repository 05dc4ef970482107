"""role harness: functional tests for Chef-style infrastructure repos.

Kept empty on purpose: `harness.agent` is shipped to nodes inside a zipapp together with
this file, and nodes have nothing but python3.
"""
