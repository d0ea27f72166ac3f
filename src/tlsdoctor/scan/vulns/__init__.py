"""Vulnerability probes: one module per family, each a real exchange with the server whose
answer is the evidence (issue 14). ``phase.py`` runs them as one phase of the scan; ``base.py``
holds the result type and the contract's ids."""
