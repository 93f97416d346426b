/* te_gemm_config.h: which variants of the GEMM kernels (te_conv2d_gemm.h) a project compiles.
 *
 * This default compiles all of them, right for any layer. The compiler writes each
 * project its own copy from the layers it planned (tinyengine_gen/codegen/kernel_config.py),
 * so that a model's Flash holds no kernel code that none of its layers can reach:
 *  - TE_GEMM_FAST_ONLY 1 where every GEMM layer has fast_requant and the full int8 clamp:
 *    the DSP tile functions are then compiled once, as NAME##_fast (arm/te_gemm_deep_dsp.h),
 *    with no NAME##_any copy for the other layers;
 *  - TE_GEMM_CONSTANT_GROUPS(CASE): the depths / 4 for which the DSP tile loops are
 *    instantiated with the depth a constant, only those the project's layers have (a
 *    depth left out runs on the general loop: same results);
 *  - TE_GEMM_SHALLOW_TILE 0 where no layer runs the shallow tile on DSP builds (every
 *    1x1 shallow layer is at most TE_GEMM_GROUP_MAX_DEPTH_DSP deep and takes the group
 *    code, and there is no KxK shallow or in-place shallow layer): te_gemm_shallow_tile's
 *    DSP code is then left out, and reaching it would trap (a HardFault, never a wrong value).
 * Only speed and code size depend on it, never a result. */
#ifndef TE_GEMM_CONFIG_H
#define TE_GEMM_CONFIG_H

#define TE_GEMM_FAST_ONLY 0
#define TE_GEMM_SHALLOW_TILE 1

#endif /* TE_GEMM_CONFIG_H */
