"""Layers that run the zoo cells: the recurrent layer (fused passes or the cell loop),
the layers named and argued as Keras' own (`LSTM`, `GRU`, `Elman`, `Leaky`, `Reservoir`),
stacks of them, attention, masked pooling and step masks."""

from zoo.layers.drop_in import GRU, LSTM, Elman, Leaky, Reservoir

__all__ = ["GRU", "LSTM", "Elman", "Leaky", "Reservoir"]
