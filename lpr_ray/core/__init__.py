"""The core tier: the model contract, decoding, confidences, images, datasets, storage paths.

numpy and OpenCV only (edit distance: rapidfuzz; storage: fsspec). Nothing here imports torch,
Ray, TensorRT, Pillow or pyarrow; tests/test_layers.py enforces it.
"""
