// MixcoreSynth: a minimal instrument for mixcore's instrument-track tests. Every MIDI note-on starts a
// sine at the note's frequency (A4 = 440 Hz) with amplitude velocity/127 * level, which stops at its
// note-off (no envelope, so onsets are sample-exact); voices add. Parameter: level (0..1).
#include <juce_audio_processors/juce_audio_processors.h>

class SineSynth final : public juce::AudioProcessor
{
public:
    SineSynth()
        : AudioProcessor (BusesProperties().withOutput ("Output", juce::AudioChannelSet::stereo(), true)),
          state (*this, nullptr, "state", makeLayout())
    {
        level = state.getRawParameterValue ("level");
    }

    static juce::AudioProcessorValueTreeState::ParameterLayout makeLayout()
    {
        juce::AudioProcessorValueTreeState::ParameterLayout layout;
        layout.add (std::make_unique<juce::AudioParameterFloat> (juce::ParameterID { "level", 1 }, "Level",
                        juce::NormalisableRange<float> (0.0f, 1.0f), 0.5f));
        return layout;
    }

    const juce::String getName() const override { return "MixcoreSynth"; }
    bool acceptsMidi() const override { return true; }
    bool producesMidi() const override { return false; }
    bool isMidiEffect() const override { return false; }
    double getTailLengthSeconds() const override { return 0.0; }
    int getNumPrograms() override { return 1; }
    int getCurrentProgram() override { return 0; }
    void setCurrentProgram (int) override {}
    const juce::String getProgramName (int) override { return "default"; }
    void changeProgramName (int, const juce::String&) override {}
    bool hasEditor() const override { return false; }
    juce::AudioProcessorEditor* createEditor() override { return nullptr; }
    void prepareToPlay (double sr, int) override { sampleRate = sr; voices.clear(); }
    void releaseResources() override {}
    void reset() override { voices.clear(); }

    void processBlock (juce::AudioBuffer<float>& buffer, juce::MidiBuffer& midi) override
    {
        buffer.clear();
        int pos = 0;
        for (const auto meta : midi)
        {
            render (buffer, pos, meta.samplePosition);
            pos = meta.samplePosition;
            const auto m = meta.getMessage();
            if (m.isNoteOn())
                voices.push_back ({ m.getNoteNumber(), m.getVelocity() / 127.0, 0.0 });
            else if (m.isNoteOff())
                voices.erase (std::remove_if (voices.begin(), voices.end(),
                                              [&] (const Voice& v) { return v.note == m.getNoteNumber(); }),
                              voices.end());
        }
        render (buffer, pos, buffer.getNumSamples());
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
    struct Voice { int note; double amp; double phase; };

    void render (juce::AudioBuffer<float>& buffer, int from, int to)
    {
        const double gain = level->load();
        for (auto& v : voices)
        {
            const double inc = 2.0 * juce::MathConstants<double>::pi
                               * 440.0 * std::pow (2.0, (v.note - 69) / 12.0) / sampleRate;
            for (int i = from; i < to; ++i)
            {
                const float s = (float) (gain * v.amp * std::sin (v.phase));
                for (int c = 0; c < buffer.getNumChannels(); ++c)
                    buffer.addSample (c, i, s);
                v.phase += inc;
            }
        }
    }

    juce::AudioProcessorValueTreeState state;
    std::atomic<float>* level = nullptr;
    std::vector<Voice> voices;
    double sampleRate = 48000.0;
};

juce::AudioProcessor* JUCE_CALLTYPE createPluginFilter() { return new SineSynth(); }
