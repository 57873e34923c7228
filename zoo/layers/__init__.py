"""Layers that run the zoo cells: the recurrent layer (fused passes or the cell loop),
stacks of them, attention, masked pooling and step masks."""
