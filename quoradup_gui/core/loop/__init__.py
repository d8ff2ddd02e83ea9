"""The closed loop: the review's answers train the model, and the clusters show what changed.

improve.py  the review as training data, the recipe for small label sets, train_from_review
changes.py  re-mine with the new model and compare with the old one at the same threshold and mode

The one stage above both review and training (it joins the two); nothing in core imports it.
"""
