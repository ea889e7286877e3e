//! Adam (optionally with decoupled weight decay), applied to a burn module through a `ModuleMapper`.
//!
//! Why not burn's `AdamW` (burn-optim 0.22.1, behind burn's `optim` feature): it is the same
//! algorithm, but it computes its scalars in `f32` where this one computes them in `f64` and
//! rounds once — `1 - β₁` is `0.100000024` there (`1f32 - 0.9f32`) and `0.1` here, and the bias
//! corrections `1 - βᵗ` differ in the last bits the same way. Every step's update therefore
//! differs in its low bits, so a seeded `train` would no longer reproduce the weights (and the
//! SHA-256) of the models shipped in `models/` and recorded in their reports; swapping would
//! mean retraining and re-measuring every shipped model. Both are deterministic; the choice is
//! reproducibility of what is shipped. Owning the dozen tensor operations also keeps the state
//! explicit (it lives in the training run, keyed by the deterministic parameter ids of
//! [`super::network::ParamIds`]).

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
    /// Decoupled weight decay (Loshchilov & Hutter's AdamW): each step shrinks every weight by
    /// `learning_rate * weight_decay` of itself; 0 is plain Adam.
    pub weight_decay: f64,
}

impl AdamConfig {
    /// The paper's betas and epsilon with the given learning rate.
    pub fn with_learning_rate(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
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
        let value = tensor.inner();
        let value = if c.weight_decay > 0.0 {
            value.mul_scalar(1.0 - c.learning_rate * c.weight_decay)
        } else {
            value
        };
        let updated = value - update.reshape(shape);
        Param::from_mapped_value(id, updated.autodiff().require_grad(), mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[derive(Module, Debug)]
    struct Point {
        x: Param<Tensor<1>>,
    }

    fn values(p: &Point) -> Vec<f32> {
        p.x.val()
            .inner()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default()
    }

    /// Adam drives a quadratic bowl to its minimum; weight decay shrinks a loss-free weight.
    #[test]
    fn minimises_a_quadratic_and_decays_weights() {
        let device = Device::flex().autodiff();
        let target = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, -2.0], [2]), &device);
        let mut point = Point {
            x: Param::from_data(TensorData::new(vec![5.0f32, 5.0], [2]), &device),
        };
        let mut adam = Adam::new(AdamConfig::with_learning_rate(0.1));
        for _ in 0..500 {
            let loss = (point.x.val() - target.clone()).square().sum();
            let mut grads = loss.backward();
            point = adam.step(point, &mut grads);
        }
        let x = values(&point);
        assert!(
            (x[0] - 1.0).abs() < 1e-2 && (x[1] + 2.0).abs() < 1e-2,
            "{x:?}"
        );

        let mut decayed = Point {
            x: Param::from_data(TensorData::new(vec![1.0f32, 1.0], [2]), &device),
        };
        let mut adamw = Adam::new(AdamConfig {
            weight_decay: 0.5,
            ..AdamConfig::with_learning_rate(0.1)
        });
        for _ in 0..10 {
            // Zero loss gradient: only the decay acts.
            let loss = decayed.x.val().mul_scalar(0.0).sum();
            let mut grads = loss.backward();
            decayed = adamw.step(decayed, &mut grads);
        }
        let x = values(&decayed);
        assert!((x[0] - 0.95f32.powi(10)).abs() < 1e-4, "{x:?}");
    }
}
