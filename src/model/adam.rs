//! Adam, applied to a burn module through a `ModuleMapper`.
//!
//! Why hand-written: burn's optimisers live behind its `optim` feature, which this crate's
//! manifest does not enable. Adam is a dozen tensor operations per parameter; owning them also
//! keeps the optimiser state explicit (it lives in the training run, keyed by the deterministic
//! parameter ids of [`super::network::ParamIds`]).

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::tensor::{Gradients, Tensor};

/// Adam hyper-parameters (Kingma & Ba 2015 defaults apart from the learning rate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Step size.
    pub learning_rate: f64,
    /// Decay of the first-moment estimate.
    pub beta1: f64,
    /// Decay of the second-moment estimate.
    pub beta2: f64,
    /// Added to the root of the second moment to avoid division by zero.
    pub epsilon: f64,
}

impl AdamConfig {
    /// The paper's betas and epsilon with the given learning rate.
    pub fn with_learning_rate(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }
}

/// First and second moment of one parameter, flattened (so one map serves every rank).
#[derive(Debug)]
struct Moments {
    first: Tensor<1>,
    second: Tensor<1>,
}

/// The optimiser state of one training run.
#[derive(Debug)]
pub struct Adam {
    config: AdamConfig,
    step: i32,
    moments: HashMap<ParamId, Moments>,
}

impl Adam {
    /// A fresh optimiser.
    pub fn new(config: AdamConfig) -> Self {
        Self {
            config,
            step: 0,
            moments: HashMap::new(),
        }
    }

    /// Apply one update to every parameter of `module` that has a gradient in `grads`.
    pub fn step<M: Module>(&mut self, module: M, grads: &mut Gradients) -> M {
        self.step += 1;
        let c = self.config;
        let mut mapper = AdamMapper {
            grads,
            moments: &mut self.moments,
            config: c,
            correction1: 1.0 - c.beta1.powi(self.step),
            correction2: 1.0 - c.beta2.powi(self.step),
        };
        module.map(&mut mapper)
    }
}

struct AdamMapper<'a> {
    grads: &'a mut Gradients,
    moments: &'a mut HashMap<ParamId, Moments>,
    config: AdamConfig,
    correction1: f64,
    correction2: f64,
}

impl ModuleMapper for AdamMapper<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = tensor.grad_remove(self.grads) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let shape = tensor.shape();
        let count = shape.num_elements();
        let grad: Tensor<1> = grad.reshape([count]);
        let c = self.config;
        let moments = match self.moments.remove(&id) {
            Some(m) => Moments {
                first: m.first.mul_scalar(c.beta1) + grad.clone().mul_scalar(1.0 - c.beta1),
                second: m.second.mul_scalar(c.beta2)
                    + grad.clone().square().mul_scalar(1.0 - c.beta2),
            },
            None => Moments {
                first: grad.clone().mul_scalar(1.0 - c.beta1),
                second: grad.square().mul_scalar(1.0 - c.beta2),
            },
        };
        let update = moments
            .first
            .clone()
            .div_scalar(self.correction1)
            .div(
                moments
                    .second
                    .clone()
                    .div_scalar(self.correction2)
                    .sqrt()
                    .add_scalar(c.epsilon),
            )
            .mul_scalar(c.learning_rate);
        self.moments.insert(id, moments);
        let updated = tensor.inner() - update.reshape(shape);
        Param::from_mapped_value(id, updated.autodiff().require_grad(), mapper)
    }
}
