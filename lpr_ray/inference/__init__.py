"""A model on images or a TAO dataset through a backend, without Ray: `Recognizer`, `evaluate`."""
