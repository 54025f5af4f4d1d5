"""The data side of bemanning: the data contract, readers, the simulated district and the
point-in-time feature table. Knows nothing of models."""
