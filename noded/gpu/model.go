package gpu

import "strings"

// brandWords are words of NVIDIA's model names that do not name the GPU.
var brandWords = map[string]bool{"nvidia": true, "tesla": true, "geforce": true, "quadro": true}

// TypeFromModel turns NVML's model name into a GPU type as partitions and
// --gres=gpu:TYPE:N name it: the first word after the vendor and brand,
// lower case ("NVIDIA H100 80GB HBM3" and "NVIDIA H100 NVL" are "h100",
// "NVIDIA A100-SXM4-40GB" is "a100", "Tesla V100-SXM2-16GB" is "v100"); an
// RTX model keeps its number ("NVIDIA GeForce RTX 4090" is "rtx4090"). An
// empty or unrecognisable name gives "gpu".
func TypeFromModel(model string) string {
	words := strings.FieldsFunc(strings.ToLower(model), func(r rune) bool {
		return r == ' ' || r == '-' || r == '_' || r == '/'
	})
	for i, w := range words {
		if brandWords[w] {
			continue
		}
		if w == "rtx" && i+1 < len(words) {
			return w + words[i+1]
		}
		return w
	}
	return "gpu"
}
