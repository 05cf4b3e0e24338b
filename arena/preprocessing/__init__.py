"""Image, text and sequence preprocessing (Keras' ``keras.preprocessing`` counterparts, numpy/scipy/Pillow)."""
from arena.preprocessing import image, sequence, text
from arena.preprocessing.image import (DirectoryIterator, ImageDataGenerator, NumpyArrayIterator, array_to_img,
                                       img_to_array, load_img, save_img)
from arena.preprocessing.sequence import TimeseriesGenerator, make_sampling_table, pad_sequences, skipgrams
from arena.preprocessing.text import Tokenizer, hashing_trick, one_hot, text_to_word_sequence, tokenizer_from_json

__all__ = ["image", "sequence", "text", "ImageDataGenerator", "NumpyArrayIterator", "DirectoryIterator", "load_img",
           "img_to_array", "array_to_img", "save_img", "Tokenizer", "tokenizer_from_json", "text_to_word_sequence",
           "one_hot", "hashing_trick", "pad_sequences", "skipgrams", "make_sampling_table", "TimeseriesGenerator"]
