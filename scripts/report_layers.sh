# The read-outs every full-width report maps (sourced by the w64 scripts): the four stage outputs
# and the first convolution of each stage's second block.
layers=(layer1 layer2 layer3 layer4 layer1.1.conv1 layer2.1.conv1 layer3.1.conv1 layer4.1.conv1)
