"""Synthetic Chinese licence plates (`lpr-ray synth --region cn`): plate types and province
shares (formats.py), glyph masks from the plate typeface's bitmaps and open CJK fonts
(glyphs.py), the flat plate (render.py). The camera effects are the US generator's.
"""
