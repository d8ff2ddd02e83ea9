"""quoradup: find and remove duplicate questions in a collection by meaning."""

__version__ = "0.1.0"
APP_NAME = "quoradup"
ORG_NAME = "quoradup"
