"""dorasim — an engineering-transformation simulator scored with the DORA metrics."""

__version__ = "0.1.0"
