"""Who may do what: the one decision `policy.can()` and the `access_*` loaders that apply it.

Imports only domain models and errors, so every domain and door can use it.
"""
