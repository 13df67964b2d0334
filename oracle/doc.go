// Package oracle computes the exact results that ulpcheck judges kernels against: log-sum-exp,
// softmax, log-softmax, cross-entropy (every PyTorch variant), softmax backward and the
// cross-entropy gradient, each correctly rounded into any fp.Format, together with enough of the
// exact real to measure a kernel's error to within 1/1000 ulp.
//
// (Package contract: see below; this file is completed as the implementation lands.)
package oracle
