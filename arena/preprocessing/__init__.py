"""Text and sequence preprocessing (Keras' ``keras.preprocessing`` counterparts, pure numpy/Python)."""
from arena.preprocessing import sequence, text
from arena.preprocessing.sequence import TimeseriesGenerator, make_sampling_table, pad_sequences, skipgrams
from arena.preprocessing.text import Tokenizer, hashing_trick, one_hot, text_to_word_sequence, tokenizer_from_json

__all__ = ["sequence", "text", "Tokenizer", "tokenizer_from_json", "text_to_word_sequence", "one_hot",
           "hashing_trick", "pad_sequences", "skipgrams", "make_sampling_table", "TimeseriesGenerator"]
