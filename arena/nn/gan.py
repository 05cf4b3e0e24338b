"""``GAN(generator, discriminator)``: a generative adversarial pair trained by ``fit`` on real samples.

Built on the public training step (:meth:`Model.train_step`, :meth:`Model.apply_update` and a dict of
optimizers, one per network), so a GAN runs through the one loop with its progress bar, callbacks,
TensorBoard, CSV logs, checkpoints and exact resume like any ``fit``. The networks are ordinary Arena
models (Sequential or functional): ``gan.generator.save(...)`` writes one that ``load_model`` reads,
and ``gan.save(...)`` writes both with both optimizer states in one model file.
"""
import jax
import jax.numpy as jnp
import numpy as np

from arena import checks
from arena.nn.layers.base import register
from arena.nn.layers.core import Input
from arena.nn.model import Model

NOISES = ("normal", "uniform")


@register
class GAN(Model):
    """A generator ``z -> x`` and a discriminator ``x -> p(x is real)`` trained against each other.

    Each training step, on a batch of real samples: ``d_steps`` discriminator updates on the real
    batch and as many generated samples (targets ``1 - label_smoothing`` for real, 0 for generated:
    one-sided smoothing), each from fresh noise, then one generator update towards the
    discriminator calling its samples real. Noise ``z`` is drawn from N(0, 1) (``noise='normal'``)
    or U(-1, 1) (``'uniform'``, the book's DCGAN) with the generator's input shape. Only the
    discriminator's weights move in its update and only the generator's in the other. Logs:
    ``d_loss`` and ``g_loss`` (with each network's weight penalties). The graph of the model
    itself is ``z -> discriminator(generator(z))``.

        gan = GAN(generator, discriminator)
        gan.compile(d_optimizer=Adam(2e-4, beta_1=0.5), g_optimizer=Adam(2e-4, beta_1=0.5))
        gan.fit(x_train, epochs=20, batch_size=128)
        images = gan.generator.predict(np.random.normal(size=(16, 100)))
    """

    def __init__(self, generator, discriminator, d_steps=1, label_smoothing=0.0, noise="normal", name=None,
                 **kwargs):
        for what, net in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(net, Model):
                raise TypeError(f"GAN: the {what} must be an Arena model (Sequential or functional); got "
                                f"{type(net).__name__}")
            if len(net.inputs) != 1 or len(net.outputs) != 1:
                raise ValueError(f"GAN: the {what} '{net.name}' must have one input and one output; it has "
                                 f"{len(net.inputs)} and {len(net.outputs)}")
        if generator is discriminator or generator.name == discriminator.name:
            raise ValueError(f"GAN: the generator and the discriminator must be two models with different names; "
                             f"both are '{generator.name}'")
        made, takes = tuple(generator.outputs[0].shape[1:]), tuple(discriminator.inputs[0].shape[1:])
        if made != takes:
            raise ValueError(f"GAN: the generator '{generator.name}' makes samples of shape {made}, but the "
                             f"discriminator '{discriminator.name}' takes inputs of shape {takes}")
        judged = tuple(discriminator.outputs[0].shape[1:])
        if judged not in ((1,), ()):
            raise ValueError(f"GAN: the discriminator '{discriminator.name}' must output one probability per "
                             f"sample (shape (batch, 1)); it outputs {(None,) + judged}")
        d_steps = checks.integer(d_steps, "GAN: d_steps", 1)
        label_smoothing = checks.number(label_smoothing, "GAN: label_smoothing", 0, 1, max_open=True)
        if noise not in NOISES:
            raise ValueError(f"GAN: noise must be one of {NOISES}; got {noise!r}")
        z = Input(shape=tuple(generator.inputs[0].shape[1:]), name=f"{name or 'gan'}_noise")
        super().__init__(z, discriminator(generator(z)), name=name, **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.d_steps, self.label_smoothing, self.noise = int(d_steps), float(label_smoothing), noise

    # ---- compile ---------------------------------------------------------------------------
    def compile(self, d_optimizer="adam", g_optimizer="adam", loss="binary_crossentropy", optimizer=None, **kwargs):
        """Each network its optimizer; ``loss(y_true, y_pred)`` scores the discriminator's outputs
        (binary cross-entropy by default). ``optimizer={generator name: ..., discriminator name: ...}``
        (what a saved GAN stores) is accepted too."""
        if optimizer is None:
            optimizer = {self.discriminator.name: d_optimizer, self.generator.name: g_optimizer}
        elif not isinstance(optimizer, dict) or set(optimizer) != {self.generator.name, self.discriminator.name}:
            raise ValueError(f"GAN.compile: optimizer must map '{self.generator.name}' and "
                             f"'{self.discriminator.name}' to optimizers; got {optimizer!r}")
        super().compile(optimizer=optimizer, loss=loss, **kwargs)

    @property
    def d_optimizer(self):
        return self.optimizer[self.discriminator.name]

    @property
    def g_optimizer(self):
        return self.optimizer[self.generator.name]

    # ---- data: real samples only ---------------------------------------------------------------
    def _prepare(self, x, y=None, sample_weight=None, class_weight=None):
        if y is not None or sample_weight is not None or class_weight is not None:
            raise ValueError(f"GAN '{self.name}': fit takes real samples x only (no y, sample_weight or "
                             f"class_weight): the targets are real / generated")
        if x is None:
            raise ValueError(f"GAN '{self.name}': x (real samples) is required")
        arrays = x if isinstance(x, (list, tuple)) else [x]
        if len(arrays) != 1:
            raise ValueError(f"GAN '{self.name}': x must be one array of real samples; got {len(arrays)} arrays")
        real = arrays[0] if isinstance(arrays[0], jax.Array) else np.asarray(arrays[0], np.float32)
        want = tuple(self.discriminator.inputs[0].shape[1:])
        if tuple(real.shape[1:]) != want:
            raise ValueError(f"GAN '{self.name}': real samples must have shape (n,) + {want} (the discriminator "
                             f"'{self.discriminator.name}''s input); got {tuple(real.shape)}")
        if real.shape[0] == 0:
            raise ValueError(f"GAN '{self.name}': x has no rows")
        return [real], None, None, int(real.shape[0])

    # ---- the training step ---------------------------------------------------------------------
    def _noise(self, key, n):
        shape = (n,) + tuple(self.generator.inputs[0].shape[1:])
        if self.noise == "uniform":
            return jax.random.uniform(key, shape, minval=-1.0, maxval=1.0)
        return jax.random.normal(key, shape)

    def _judge_loss(self, target, p):
        return jnp.mean(self._losses[0](jnp.full(p.shape, target, p.dtype), p))

    def train_step(self, state, batch):
        xs, _, _ = batch
        real = xs[0].astype(jnp.float32)
        n = real.shape[0]
        g, d = self.generator, self.discriminator
        key = jax.random.fold_in(state.key, state.step)
        real_target = 1.0 - self.label_smoothing

        d_loss = 0.0
        for i in range(self.d_steps):  # static: unrolled
            k_z, k_g, k_d = jax.random.split(jax.random.fold_in(key, i), 3)
            (fake,), _, _ = g.forward(state.params[g.name], state.state[g.name], [self._noise(k_z, n)],
                                      training=True, key=k_g)
            both = jnp.concatenate([real, jax.lax.stop_gradient(fake)])  # one batch, as the book's recipe
            targets = jnp.concatenate([jnp.full((n,), real_target), jnp.zeros((n,))])

            def d_loss_fn(params, layer_state, both=both, targets=targets, k_d=k_d):
                (p,), new_state, act = d.forward(params, layer_state, [both], training=True, key=k_d)
                p = p.reshape(2 * n, -1)
                loss = jnp.mean(self._losses[0](targets[:, None].astype(p.dtype), p))
                return loss + act, (new_state, None)
            state, d_loss, _ = self.apply_update(state, d_loss_fn, d.name)

        k_z, k_g, k_d = jax.random.split(jax.random.fold_in(key, self.d_steps), 3)
        z = self._noise(k_z, n)
        d_params, d_state = state.params[d.name], state.state[d.name]

        def g_loss_fn(params, layer_state):
            (fake,), new_state, act = g.forward(params, layer_state, [z], training=True, key=k_g)
            (p,), _, _ = d.forward(d_params, d_state, [fake], training=True, key=k_d)
            return self._judge_loss(1.0, p.reshape(n, -1)) + act, (new_state, None)
        state, g_loss, _ = self.apply_update(state, g_loss_fn, g.name)
        return state._replace(step=state.step + 1), {"d_loss": d_loss, "g_loss": g_loss}

    # ---- files -----------------------------------------------------------------------------------
    def get_config(self):
        return {**super().get_config(), "gan": {"generator": self.generator.name,
                                                 "discriminator": self.discriminator.name,
                                                 "d_steps": self.d_steps, "label_smoothing": self.label_smoothing,
                                                 "noise": self.noise}}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        options = config.get("gan") if isinstance(config, dict) else None
        if not isinstance(options, dict):
            raise ValueError("a GAN config needs a 'gan' entry naming its generator and discriminator")
        graph = Model.from_config({k: v for k, v in config.items() if k != "gan"}, custom_objects)
        nets = {}
        for role in ("generator", "discriminator"):
            try:
                nets[role] = graph.get_layer(options.get(role))
            except ValueError:
                raise ValueError(f"GAN config '{config.get('name')}': its {role} {options.get(role)!r} is not one "
                                 f"of its layers") from None
        return cls(nets["generator"], nets["discriminator"], d_steps=options.get("d_steps", 1),
                   label_smoothing=options.get("label_smoothing", 0.0), noise=options.get("noise", "normal"),
                   name=config.get("name"), trainable=config.get("trainable", True))

