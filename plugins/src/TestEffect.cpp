// MixcoreTestEffect: a small, exactly specified effect for mixcore's hosting tests.
//
//   v[n] = shape(x[n - L])                      L = latency_samples
//   y[n] = s * g * (v[n] + 0.5 * v[n - E])      E = round(echo_ms * sample_rate / 1000), no echo when E = 0
//
// with g = 10^(gain_db / 20) (float, -24..24 dB), s = -1 when `invert` (bool) is on, shape = identity or
// tanh by `mode` (choice: clean | saturate). L (int 0..4096) is a real delay line, reported to the host
// with setLatencySamples so that a host's delay compensation can be tested against it. The echo is a
// real tail: the output goes on E samples after the input stops, and getTailLengthSeconds reports
// echo_ms / 1000. State is the parameter tree (getStateInformation / setStateInformation).
#include <juce_audio_processors/juce_audio_processors.h>

class TestEffect final : public juce::AudioProcessor
{
public:
    static constexpr float maxEchoMs = 2000.0f;

    TestEffect()
        : AudioProcessor (BusesProperties().withInput ("Input", juce::AudioChannelSet::stereo(), true)
                                           .withOutput ("Output", juce::AudioChannelSet::stereo(), true)),
          state (*this, nullptr, "state", makeLayout())
    {
        gain = state.getRawParameterValue ("gain_db");
        invert = state.getRawParameterValue ("invert");
        mode = state.getRawParameterValue ("mode");
        latency = state.getRawParameterValue ("latency_samples");
        echo = state.getRawParameterValue ("echo_ms");
    }

    static juce::AudioProcessorValueTreeState::ParameterLayout makeLayout()
    {
        juce::AudioProcessorValueTreeState::ParameterLayout layout;
        layout.add (std::make_unique<juce::AudioParameterFloat> (juce::ParameterID { "gain_db", 1 }, "Gain",
                        juce::NormalisableRange<float> (-24.0f, 24.0f), 0.0f,
                        juce::AudioParameterFloatAttributes().withLabel ("dB")));
        layout.add (std::make_unique<juce::AudioParameterBool> (juce::ParameterID { "invert", 1 }, "Invert", false));
        layout.add (std::make_unique<juce::AudioParameterChoice> (juce::ParameterID { "mode", 1 }, "Mode",
                        juce::StringArray { "clean", "saturate" }, 0));
        layout.add (std::make_unique<juce::AudioParameterInt> (juce::ParameterID { "latency_samples", 1 },
                        "Latency Samples", 0, 4096, 0));
        layout.add (std::make_unique<juce::AudioParameterFloat> (juce::ParameterID { "echo_ms", 1 }, "Echo",
                        juce::NormalisableRange<float> (0.0f, maxEchoMs), 0.0f,
                        juce::AudioParameterFloatAttributes().withLabel ("ms")));
        return layout;
    }

    const juce::String getName() const override { return "MixcoreTestEffect"; }
    bool acceptsMidi() const override { return false; }
    bool producesMidi() const override { return false; }
    double getTailLengthSeconds() const override { return echo->load() / 1000.0; }
    int getNumPrograms() override { return 1; }
    int getCurrentProgram() override { return 0; }
    void setCurrentProgram (int) override {}
    const juce::String getProgramName (int) override { return "default"; }
    void changeProgramName (int, const juce::String&) override {}
    bool hasEditor() const override { return false; }
    juce::AudioProcessorEditor* createEditor() override { return nullptr; }

    bool isBusesLayoutSupported (const BusesLayout& layouts) const override
    {
        const auto& out = layouts.getMainOutputChannelSet();
        return (out == juce::AudioChannelSet::mono() || out == juce::AudioChannelSet::stereo())
               && out == layouts.getMainInputChannelSet();
    }

    void prepareToPlay (double sr, int) override
    {
        sampleRate = sr;
        const auto echoSize = (size_t) std::ceil (maxEchoMs / 1000.0 * sr) + 2;
        for (auto& ring : echoes)
            ring.assign (echoSize, 0.0f);
        applyLatency();
        reset();
    }

    void releaseResources() override {}

    void reset() override
    {
        for (auto& line : lines)
            std::fill (line.begin(), line.end(), 0.0f);
        for (auto& ring : echoes)
            std::fill (ring.begin(), ring.end(), 0.0f);
        writePos = 0;
        echoPos = 0;
    }

    void applyLatency()
    {
        currentLatency = (int) latency->load();
        for (auto& line : lines)
            line.assign ((size_t) currentLatency + 1, 0.0f);
        writePos = 0;
        setLatencySamples (currentLatency);
    }

    void processBlock (juce::AudioBuffer<float>& buffer, juce::MidiBuffer&) override
    {
        if ((int) latency->load() != currentLatency)
            applyLatency();
        const float g = juce::Decibels::decibelsToGain (gain->load()) * (invert->load() > 0.5f ? -1.0f : 1.0f);
        const bool saturate = mode->load() > 0.5f;
        const int n = buffer.getNumSamples();
        const int size = currentLatency + 1;
        const int echoSize = (int) echoes[0].size();
        const int e = juce::jlimit (0, echoSize - 1, (int) std::lround (echo->load() / 1000.0 * sampleRate));
        const int channels = juce::jmin (2, buffer.getNumChannels());
        int w = writePos, ew = echoPos;
        for (int c = 0; c < channels; ++c)
        {
            auto* x = buffer.getWritePointer (c);
            auto& line = lines[(size_t) c];
            auto& ring = echoes[(size_t) c];
            w = writePos;
            ew = echoPos;
            for (int i = 0; i < n; ++i)
            {
                line[(size_t) w] = x[i];
                const int r = (w + 1) % size;          // the sample written `currentLatency` calls ago
                float v = currentLatency == 0 ? x[i] : line[(size_t) r];
                if (saturate)
                    v = std::tanh (v);
                ring[(size_t) ew] = v;
                const float echoed = e == 0 ? 0.0f : ring[(size_t) ((ew - e + echoSize) % echoSize)];
                x[i] = g * (v + 0.5f * echoed);
                w = r;
                ew = (ew + 1) % echoSize;
            }
        }
        writePos = w;
        echoPos = ew;
    }

    void getStateInformation (juce::MemoryBlock& dest) override
    {
        if (auto xml = state.copyState().createXml())
            copyXmlToBinary (*xml, dest);
    }

    void setStateInformation (const void* data, int size) override
    {
        if (auto xml = getXmlFromBinary (data, size))
            state.replaceState (juce::ValueTree::fromXml (*xml));
    }

private:
    juce::AudioProcessorValueTreeState state;
    std::atomic<float>* gain = nullptr;
    std::atomic<float>* invert = nullptr;
    std::atomic<float>* mode = nullptr;
    std::atomic<float>* latency = nullptr;
    std::atomic<float>* echo = nullptr;
    std::array<std::vector<float>, 2> lines;
    std::array<std::vector<float>, 2> echoes { std::vector<float> (1, 0.0f), std::vector<float> (1, 0.0f) };
    double sampleRate = 48000.0;
    int writePos = 0;
    int echoPos = 0;
    int currentLatency = 0;
};

juce::AudioProcessor* JUCE_CALLTYPE createPluginFilter() { return new TestEffect(); }
