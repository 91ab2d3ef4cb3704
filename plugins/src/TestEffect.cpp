// MixcoreTestEffect: a small, exactly specified effect for mixcore's hosting tests.
//
//   y[n] = polarity * g * shape(x[n - latency_samples])
//
// gain_db (float, -24..24 dB), invert (bool), mode (choice: clean | saturate: tanh), and
// latency_samples (int 0..4096): a real delay line of that many samples, reported to the host
// with setLatencySamples so that a host's delay compensation can be tested. A "tail" of
// tail_ms (0..2000 ms) is reported through getTailLengthSeconds. State is the parameter tree.
#include <juce_audio_processors/juce_audio_processors.h>
#include <juce_audio_utils/juce_audio_utils.h>

class TestEffect final : public juce::AudioProcessor
{
public:
    TestEffect()
        : AudioProcessor (BusesProperties().withInput ("Input", juce::AudioChannelSet::stereo(), true)
                                           .withOutput ("Output", juce::AudioChannelSet::stereo(), true)),
          state (*this, nullptr, "state", makeLayout())
    {
        gain = state.getRawParameterValue ("gain_db");
        invert = state.getRawParameterValue ("invert");
        mode = state.getRawParameterValue ("mode");
        latency = state.getRawParameterValue ("latency_samples");
        tail = state.getRawParameterValue ("tail_ms");
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
        layout.add (std::make_unique<juce::AudioParameterFloat> (juce::ParameterID { "tail_ms", 1 }, "Tail",
                        juce::NormalisableRange<float> (0.0f, 2000.0f), 0.0f,
                        juce::AudioParameterFloatAttributes().withLabel ("ms")));
        return layout;
    }

    const juce::String getName() const override { return "MixcoreTestEffect"; }
    bool acceptsMidi() const override { return false; }
    bool producesMidi() const override { return false; }
    double getTailLengthSeconds() const override { return tail->load() / 1000.0; }
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

    void prepareToPlay (double, int) override
    {
        applyLatency();
        reset();
    }

    void releaseResources() override {}

    void reset() override
    {
        for (auto& line : lines)
            std::fill (line.begin(), line.end(), 0.0f);
        writePos = 0;
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
        for (int c = 0; c < juce::jmin (2, buffer.getNumChannels()); ++c)
        {
            auto* x = buffer.getWritePointer (c);
            auto& line = lines[(size_t) c];
            int w = writePos;
            for (int i = 0; i < n; ++i)
            {
                line[(size_t) w] = x[i];
                const int r = (w + 1) % size;          // the sample written `currentLatency` calls ago
                float v = currentLatency == 0 ? x[i] : line[(size_t) r];
                if (saturate)
                    v = std::tanh (v);
                x[i] = g * v;
                w = r;
            }
            if (c == juce::jmin (2, buffer.getNumChannels()) - 1)
                writePos = w;
        }
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
    std::atomic<float>* tail = nullptr;
    std::array<std::vector<float>, 2> lines;
    int writePos = 0;
    int currentLatency = 0;
};

juce::AudioProcessor* JUCE_CALLTYPE createPluginFilter() { return new TestEffect(); }
