"""The adversarial battery: submissions that try to fool the grader (see ``attacks.py``)."""
