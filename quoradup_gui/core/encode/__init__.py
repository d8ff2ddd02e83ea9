"""Stage 2, encode: models (bundled, folder, hub; device), the embedding cache, the torch and
ONNX int8 encoders, and the model folders a training run writes (model_folders)."""
