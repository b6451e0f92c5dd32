"""Redis persistence. Every key prefix lives in keys.py."""
