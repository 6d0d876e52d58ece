"""Evaluation metrics: one module per metric, one registry (as NVlabs' stylegan2-ada metrics).

Each metric takes features (and IS takes logits) from one extractor (``extractors.py``);
``evaluate.py`` runs them and records the extractor, sample counts and seed with the numbers.
"""
