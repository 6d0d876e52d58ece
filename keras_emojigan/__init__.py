"""keras_emojigan: GANs for small image sets (emoji first) in TensorFlow / Keras 3.

TensorFlow is imported lazily: ``keras_emojigan.data.sources`` and the CLI's data commands
work with NumPy and Pillow alone.
"""

__version__ = "0.1.0"
