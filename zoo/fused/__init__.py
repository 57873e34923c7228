"""Whole-sequence forward and hand-written backward passes of the zoo cells (TensorFlow).

`zoo.layers.recurrent.RecurrentLayer` runs these in place of the per-step cell loop when
the maths match (see there); each computes exactly its cell's equations.
"""
