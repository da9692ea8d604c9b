"""mvnoguard: real-name supervision for mobile virtual network operators."""

__version__ = "0.1.0"
