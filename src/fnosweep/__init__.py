"""fnosweep: hyperparameter sweeps for Fourier Neural Operators, with stability diagnoses."""

__version__ = "0.1.0"
