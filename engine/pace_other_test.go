//go:build !linux

package engine

const scanNiceWanted = 0

func threadNice() int { return 0 }
