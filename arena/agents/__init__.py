"""Reinforcement-learning agents."""
from arena.agents.compiled_dqn import CompiledDQN
from arena.agents.dqn import DQN, DQNConfig
from arena.agents.evaluation import evaluate_q_network
