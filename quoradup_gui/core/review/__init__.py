"""The review stage: one ReviewSession per open collection, its decision journal, and the exports.

Public face: :class:`ReviewSession` (session.py) and what its callers need from the decision
log (decisions.py) and the collection under review (collection.py).
"""
