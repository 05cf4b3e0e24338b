"""E7.4: memory network on bAbI task 1, single supporting fact (the book repo's Chapter07/mem-network.py).

    python scripts/babi_memnn.py [--epochs 50] [--seed 42] [--limit QUESTIONS]

Data: ``qa1_single-supporting-fact_{train,test}.txt`` of bAbI v1.2 en-10k (10,000 / 1,000 questions).
Parsed as the repo does: the story is reset after every question, so each question's story is only the
statements since the previous question (always 2 here). Tokens: lower-cased Treebank word tokens
(NLTK's ``word_tokenize`` needs ``punkt``, which is not offline; one sentence per line makes the
Treebank tokenizer alone equivalent here). Vocabulary 22 ids including PAD 0, most frequent first in
the *training* file (the repo's vocabulary sees the training file twice, by the bug below; counting the
real test file too reorders the four names and the six places -- the same model, but other ids and so
another random draw at a given seed; equal counts, e.g. to / the / ., keep first-seen order, where the
repo's Python 2 Counter used hash order), story length 14, question length 4, both padded at the
front; answers one-hot over 22.

Model [17,838 params]: story -> Embedding(22, 64) -> Dropout(.3); question -> Embedding(22, 64) ->
Dropout(.3); ``dot([story, question], axes=[2, 2])`` -> (14, 4) (no softmax, as the repo); ``add`` story
-> Embedding(22, 4) -> Dropout(.3); Permute((2, 1)) -> (4, 14); concatenate with the question embedding
-> (4, 78) -> LSTM(32) -> Dropout(.3) -> Dense(22) -> softmax. rmsprop, categorical cross-entropy,
batch 32, 50 epochs (the book; the repo says 400).

Evaluation: the repo's reader opens the *training* file for both splits, so the book's "validation"
accuracy (over 81 %) is measured on the training questions; this script passes the training file as
``validation_data`` to reproduce it and also evaluates on the real test file (book.md sections 8, 11).
Only about 74 % of the training and 71 % of the test questions have their supporting fact inside the
2 kept statements (printed), which is why the accuracy plateaus near 81 %.
Measured (50 epochs, 25-45 s of training on 2 shared CPU cores), on the training file / the test file:
seed 42 (default) 81.56 / 76.70 %; over seeds 42 and 1-10, 81.55 +- 0.34 % (81.12-82.18) / 76.29 +-
0.49 %. The book's "over 81 %" is this model's typical figure, not a floor: the spread across seeds is
about +-0.35 points. With the ids counted over both files (this script before) the same 11 seeds gave
81.48 +- 0.37 % (80.78-82.02; seed 42 80.92 %, seed 10 80.78 %) / 75.71 +- 0.46 %; the id order only
permutes the embedding rows, so the two sets are draws of the same distribution.

Printed: the per-epoch curve, the bug-compatible and the real test accuracy beside the book's 81 %, and
the first 10 test questions with answer and prediction; the curves are saved as ``curves.png`` in the
log folder.
"""
import collections
import itertools
import os
import sys

import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.datasets import babi  # noqa: E402
from arena.datasets.tokenize import word_tokenize  # noqa: E402
from arena.nn import LSTM, Activation, Dense, Dropout, Embedding, Input, Model, Permute  # noqa: E402
from arena.nn import add, concatenate, dot  # noqa: E402
from arena.preprocessing.sequence import pad_sequences  # noqa: E402
from arena.utils import to_categorical  # noqa: E402

EMBEDDING_SIZE = 64
LATENT_SIZE = 32
BATCH_SIZE = 32
NUM_EPOCHS = 50
BOOK_SEED = 42
BOOK_ACC = 81.0  # "over 81 %" on the training file
BOOK_PARAMS = 17_838
BOOK_VOCAB, BOOK_STORY_LEN, BOOK_QUESTION_LEN = 22, 14, 4


def tokens(text):
    return [w.lower() for w in word_tokenize(text)]


def get_data(lines, limit=None):
    """The repo's parsing: ``(stories, questions, answers, covered)``; each story is the statements
    since the previous question. ``covered[i]``: the supporting fact is among the kept statements."""
    stories, questions, answers, covered = [], [], [], []
    story, ids = [], []
    for nid, text, answer, supporting in lines:
        if answer is None:
            story.append(text)
            ids.append(nid)
            continue
        stories.append(story)
        questions.append(text)
        answers.append(answer)
        covered.append(all(s in ids for s in supporting))
        story, ids = [], []
        if limit is not None and len(questions) >= limit:
            break
    return stories, questions, answers, np.array(covered)


def build_vocab(*datasets):
    """Word ids 1.. by frequency over ``datasets``, PAD 0."""
    counter = collections.Counter()
    for stories, questions, answers, _ in datasets:
        for text in itertools.chain(itertools.chain.from_iterable(stories), questions, answers):
            counter.update(tokens(text))
    word2idx = {w: i + 1 for i, (w, _) in enumerate(counter.most_common())}
    word2idx["PAD"] = 0
    return word2idx


def repo_vocab(data_train, data_test):
    """The repo's ids: its ``build_vocab(data_train, data_test)`` counts the *training* file twice (its
    reader opens the training file for both), so the ids follow the training file's frequencies.
    Words only the real test file has (none on the full data) follow, so it can still be vectorized."""
    word2idx = build_vocab(data_train, data_train)
    for w in build_vocab(data_test):
        word2idx.setdefault(w, len(word2idx))
    return word2idx


def get_maxlens(*datasets):
    story_maxlen = max(sum(len(tokens(s)) for s in story) for d in datasets for story in d[0])
    question_maxlen = max(len(tokens(q)) for d in datasets for q in d[1])
    return story_maxlen, question_maxlen


def vectorize(data, word2idx, story_maxlen, question_maxlen):
    stories, questions, answers, _ = data
    xs = [[word2idx[w] for s in story for w in tokens(s)] for story in stories]
    xq = [[word2idx[w] for w in tokens(q)] for q in questions]
    y = [word2idx[a.lower()] for a in answers]
    return (pad_sequences(xs, maxlen=story_maxlen), pad_sequences(xq, maxlen=question_maxlen),
            to_categorical(y, num_classes=len(word2idx)))


def build_model(vocab_size, story_maxlen, question_maxlen):
    story_input = Input(shape=(story_maxlen,))
    question_input = Input(shape=(question_maxlen,))
    story_encoder = Embedding(input_dim=vocab_size, output_dim=EMBEDDING_SIZE, input_length=story_maxlen)(story_input)
    story_encoder = Dropout(0.3)(story_encoder)
    question_encoder = Embedding(input_dim=vocab_size, output_dim=EMBEDDING_SIZE,
                                 input_length=question_maxlen)(question_input)
    question_encoder = Dropout(0.3)(question_encoder)
    match = dot([story_encoder, question_encoder], axes=[2, 2])  # (story_maxlen, question_maxlen)
    story_encoder_c = Embedding(input_dim=vocab_size, output_dim=question_maxlen,
                                input_length=story_maxlen)(story_input)
    story_encoder_c = Dropout(0.3)(story_encoder_c)
    response = add([match, story_encoder_c])
    response = Permute((2, 1))(response)  # (question_maxlen, story_maxlen)
    answer = concatenate([response, question_encoder], axis=-1)
    answer = LSTM(LATENT_SIZE, recurrent_activation="hard_sigmoid")(answer)  # Keras 2.0's gates
    answer = Dropout(0.3)(answer)
    answer = Dense(vocab_size)(answer)
    output = Activation("softmax")(answer)
    return Model(inputs=[story_input, question_input], outputs=output)


def main(argv=None):
    p = common.parser("babi_memnn", __doc__.splitlines()[0], epochs=NUM_EPOCHS, seed=BOOK_SEED)
    p.add_argument("--limit", type=int, default=None, help="use only the first LIMIT questions of each file")
    args = p.parse_args(argv)
    common.start(args)

    train_lines, test_lines = babi.load_data()
    data_train, data_test = get_data(train_lines, args.limit), get_data(test_lines, args.limit)
    word2idx = repo_vocab(data_train, data_test)
    idx2word = {i: w for w, i in word2idx.items()}
    story_maxlen, question_maxlen = get_maxlens(data_train, data_test)
    vocab_size = len(word2idx)
    print(f"{len(data_train[1])} train / {len(data_test[1])} test questions; vocab {vocab_size} "
          f"(book {BOOK_VOCAB}), story maxlen {story_maxlen} (book {BOOK_STORY_LEN}), "
          f"question maxlen {question_maxlen} (book {BOOK_QUESTION_LEN})")
    ceiling = (100.0 * data_train[3].mean(), 100.0 * data_test[3].mean())
    print(f"supporting fact inside the kept story: train {ceiling[0]:.1f} %, test {ceiling[1]:.1f} % "
          f"(book.md: 74.2 / 70.8)")
    xs_train, xq_train, y_train = vectorize(data_train, word2idx, story_maxlen, question_maxlen)
    xs_test, xq_test, y_test = vectorize(data_test, word2idx, story_maxlen, question_maxlen)

    model = build_model(vocab_size, story_maxlen, question_maxlen)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    if args.verbose:
        model.summary()
    with common.Timer() as t:
        # The repo's bug, reproduced: its "validation" data is the training file.
        history = model.fit([xs_train, xq_train], y_train, batch_size=BATCH_SIZE, epochs=args.epochs,
                            verbose=args.verbose, validation_data=([xs_train, xq_train], y_train),
                            callbacks=[common.tensorboard(args.logdir)])
    h = history.history
    print(f"\n  {'epoch':>5s}{'loss':>9s}{'acc':>9s}{'val_loss':>10s}{'val_acc':>9s}   (val = training file)")
    for i in range(len(h["loss"])):
        print(f"  {i + 1:5d}{h['loss'][i]:9.4f}{h['accuracy'][i]:9.4f}{h['val_loss'][i]:10.4f}"
              f"{h['val_accuracy'][i]:9.4f}")
    png = common.save_curves(history, os.path.join(args.logdir, "curves.png"), val_label="validation (training file)")
    test_loss, test_acc = model.evaluate([xs_test, xq_test], y_test, batch_size=BATCH_SIZE, verbose=0)
    book_eval = 100.0 * h["val_accuracy"][-1]
    print(f"\nE7.4: {args.epochs} epoch(s), {t.seconds:.1f} s training, {model.count_params():,} params "
          f"(book {BOOK_PARAMS:,})" + (f"; curves in {png}" if png else ""))
    print(f"  {'':34s}{'Arena %':>9s}{'book %':>9s}")
    print(f"  {'book evaluation (training file)':34s}{book_eval:9.2f}{'> 81':>9s}")
    print(f"  {'train (running, dropout on)':34s}{100.0 * h['accuracy'][-1]:9.2f}{'-':>9s}")
    print(f"  {'real test file':34s}{100.0 * test_acc:9.2f}{'-':>9s}")
    predictions = np.argmax(np.asarray(model.predict([xs_test, xq_test], verbose=0)), axis=1)
    labels = np.argmax(y_test, axis=1)
    for i in range(min(10, len(labels))):
        story = " ".join(idx2word[int(x)] for x in xs_test[i] if x != 0)
        question = " ".join(idx2word[int(x)] for x in xq_test[i] if x != 0)
        print(f"{story} | {question} | {idx2word[int(labels[i])]} | {idx2word[int(predictions[i])]}")
    return {"book_eval": book_eval, "train": 100.0 * h["accuracy"][-1], "test": 100.0 * test_acc,
            "seconds": t.seconds, "params": model.count_params(), "vocab": vocab_size,
            "story_maxlen": story_maxlen, "question_maxlen": question_maxlen, "ceiling": ceiling,
            "history": h}


if __name__ == "__main__":
    main()
