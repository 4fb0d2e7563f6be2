"""Checkpoint -> ONNX with preprocessing baked in; parity and latency checks; ORT scoring.

``exporter.export_checkpoint`` writes the model, ``runtime.OnnxPredictor`` scores it.
"""
