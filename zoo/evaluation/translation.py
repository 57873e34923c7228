"""How close decoded strings are to their references, and what TensorBoard shows of them.

    exact match   share of decodes equal to their reference
    CER           sum of character edit distances (Levenshtein, `tf.edit_distance`) over
                  the sum of reference lengths in characters
    BLEU, chrF    sacrebleu's corpus scores (Papineni et al. 2002; Popovic 2015), 0-100

plus a Markdown table of sample decodes and attention alignments drawn as an image.
"""

import warnings

import numpy as np
import tensorflow as tf

from zoo.evaluation.plots import png_of, subplots


def exact_match(hypotheses, references):
    return float(np.mean([h == r for h, r in zip(hypotheses, references)]))


def character_error_rate(hypotheses, references):
    """CER of the module docstring."""
    split = lambda texts: tf.strings.unicode_split(tf.constant(texts, tf.string), "UTF-8").to_sparse()
    edits = tf.edit_distance(split(hypotheses), split(references), normalize=False)
    return float(tf.reduce_sum(edits)) / max(sum(len(r) for r in references), 1)


def corpus_scores(hypotheses, references):
    """{"bleu", "chrf"} of the module docstring (sacrebleu's defaults)."""
    import sacrebleu

    return {"bleu": sacrebleu.corpus_bleu(hypotheses, [references]).score,
            "chrf": sacrebleu.corpus_chrf(hypotheses, [references]).score}


def samples_table(sources, references, decodes):
    """Markdown table: source, reference and each decode ({name: strings}) per row."""
    cell = lambda text: " ".join(str(text).split())[:200].replace("|", "\\|") or " "
    rows = ["| source | reference | " + " | ".join(decodes) + " |",
            "| --- | --- | " + " | ".join("---" for _ in decodes) + " |"]
    for k, (source, reference) in enumerate(zip(sources, references)):
        rows.append(f"| {cell(source)} | {cell(reference)} | " +
                    " | ".join(cell(texts[k]) for texts in decodes.values()) + " |")
    return "\n".join(rows)


def attention_png(alignments, title):
    """Attention weights as heatmaps, one panel per (weights [out, in], source tokens,
    output tokens) of `alignments`: row t is where the decoder looked to write output t."""
    # Glyphs of scripts the default font lacks are drawn as boxes, without a warning each.
    warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
    figure, axes = subplots(len(alignments), 1, figsize=(8, 2.6 * len(alignments)), dpi=80,
                                   squeeze=False)
    for panel, (weights, source_tokens, output_tokens) in zip(axes[:, 0], alignments):
        panel.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        panel.set_xticks(np.arange(len(source_tokens)), source_tokens, fontsize=7)
        panel.set_yticks(np.arange(len(output_tokens)), output_tokens, fontsize=7)
        panel.set_xlabel("source")
        panel.set_ylabel("output")
    axes[0, 0].set_title(title)
    return png_of(figure)
