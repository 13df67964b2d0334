package kernels

import "github.com/x448/float16"

type float16T = float16.Float16
