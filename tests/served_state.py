"""The recurrent state a client of the exported `step` signature carries."""


def state_sizes(step):
    """{state input name: units} of a loaded `step` signature (token_ids excluded)."""
    return {name: spec.shape[-1] for name, spec in step.structured_input_signature[1].items()
            if name != "token_ids"}
